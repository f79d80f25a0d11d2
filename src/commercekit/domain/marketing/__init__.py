"""Marketing: what brings shoppers in and what the store learns from them."""
