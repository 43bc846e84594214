"""The team workflow (issue 14): accounts and plan roles, API tokens, and submissions
reviewed by leads. Services here write in one transaction each and record every step as an
event in the hash chain; the read side is `cpflow.read.team`."""
