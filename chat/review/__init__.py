"""The admin's tools for reviewing stored conversations: the dashboard, transcripts as the user
saw them, exports and pruning old histories."""
