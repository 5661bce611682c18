"""User data to tensors and back."""
