"""Model adapters: one family per module, all behind the contract in `base.py`."""
