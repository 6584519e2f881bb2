"""What each root field does: validate input, call `db/` functions, shape the answer."""
