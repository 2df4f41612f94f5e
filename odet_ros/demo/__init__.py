"""`odet demo`: the whole workflow on the bundled sample, with an HTML report."""
