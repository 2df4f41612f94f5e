"""Which files are images: one list for every reader of image files (camera folders, datasets,
`odet detect` folders), Ultralytics' own (``IMG_FORMATS``), so a dataset means the same images to
odet and to Ultralytics' training."""

IMAGE_SUFFIXES = frozenset(
    {".bmp", ".dng", ".heic", ".jpeg", ".jpg", ".mpo", ".pfm", ".png", ".tif", ".tiff", ".webp"}
)
