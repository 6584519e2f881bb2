"""Persistence: models, the engine and sessions, query functions and dataloaders.

Nothing here knows GraphQL. Every function that reads or writes a user's data
takes that user's id as an argument.
"""
