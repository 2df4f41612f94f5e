"""A page as headless Chromium renders it: whether each image loaded and what sticks out sideways.

The page is opened from disk as a user opens it (file://, in its own folder so relative links
resolve) with a small script added before ``</body>`` that, once the page has loaded, measures it
and writes the result into the DOM; ``chromium --dump-dom`` prints that DOM. No driver, no
DevTools client: Debian's ``chromium`` package alone (scripts/test.sh installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXECUTABLE_VARIABLE = "ODET_CHROMIUM"  # the chromium executable (scripts/test.sh sets it)
UNAVAILABLE_VARIABLE = "ODET_CHROMIUM_UNAVAILABLE"  # why it could not be installed
NAMES = ("chromium", "chromium-browser", "google-chrome")
# As root in a closed network: no sandbox, and nothing that calls home at start-up.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
TIMEOUT_S = 90
RESULT_ID = "odet-browser-check"
PROBE = """<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const name = (e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "");
  const result = {
    viewport: root.clientWidth,
    document: root.scrollWidth,
    images: [...document.images].map((i) => ({
      alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
      shown: i.getBoundingClientRect().width,
    })),
    overflowing: [...document.querySelectorAll("body, body *")]
      .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
      .map((e) => `${name(e)} ${e.scrollWidth}px in ${e.clientWidth}px: `
                  + (e.textContent || "").trim().slice(0, 60)),
  };
  const out = document.createElement("pre");
  out.id = "odet-browser-check";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


@dataclass(frozen=True)
class Rendered:
    """What the browser saw at one window width."""

    viewport: int  # the layout width (the window less any scroll bar)
    document: int  # the page's width: more than the viewport means a horizontal scroll bar
    images: list[dict[str, Any]]
    overflowing: list[str]  # elements whose content is wider than their box

    def broken_images(self) -> list[str]:
        return [i["alt"] or "(no alt)" for i in self.images if not (i["complete"] and i["width"])]


def chromium() -> str | None:
    """The browser: ODET_CHROMIUM, else the first of NAMES on PATH."""
    given = os.environ.get(EXECUTABLE_VARIABLE)
    if given:
        return given
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def why_no_chromium() -> str:
    return os.environ.get(UNAVAILABLE_VARIABLE) or (
        "no Chromium here: the test command's workstation profile installs Debian's chromium"
        f" and sets {EXECUTABLE_VARIABLE}"
    )


def render(page: Path, width: int, height: int = 900, executable: str | None = None) -> Rendered:
    """Open ``page`` at ``width`` x ``height`` CSS pixels and measure it once it has loaded."""
    browser = executable or chromium()
    if browser is None:
        raise RuntimeError(why_no_chromium())
    text = page.read_text()
    probed = re.sub(r"</body>", PROBE + "</body>", text, count=1, flags=re.I)
    if probed == text:
        probed = text + PROBE
    with tempfile.TemporaryDirectory() as profile:
        copy = page.with_name(f".browser-check-{os.getpid()}-{page.name}")
        copy.write_text(probed)
        try:
            done = subprocess.run(
                [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 "--dump-dom", copy.resolve().as_uri()],
                capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
            )  # fmt: skip
        finally:
            copy.unlink()
    found = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', done.stdout, re.S)
    if found is None:
        raise RuntimeError(
            f"{browser} gave no measurement of {page} (exit {done.returncode}):"
            f" {done.stderr.strip()[-2000:]}"
        )
    result = json.loads(html.unescape(found.group(1)))
    return Rendered(result["viewport"], result["document"], result["images"], result["overflowing"])
