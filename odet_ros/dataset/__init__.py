"""Datasets: export from bags, label formats, checks, statistics, split, augmentation."""
