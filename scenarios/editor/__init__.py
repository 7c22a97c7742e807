"""The scenario editor: a draft's document as a form generated from the format's schema."""
