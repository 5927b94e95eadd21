"""Training entry point: ``python -m training.train --config training/configs/NAME.yaml [key=value ...]``."""
