"""`/v1/collections`: create, list, add items, delete, and search cross-modal collections."""
