"""The city side: place model, reports, open data and the staff web app (issue 15)."""
