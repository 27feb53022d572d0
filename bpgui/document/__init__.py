"""The open session as an observable document, and what belongs to it: runs, races, recovery,
snapshots."""
