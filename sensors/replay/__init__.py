"""Replay source: recorded counts from a CSV file (`time,sensor,direction,count`)."""
