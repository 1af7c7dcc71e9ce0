"""The sign's interactive mode: a passer-by touches the sign to search events, places, walking
routes and jogging courses, and takes the route to their phone by QR code.

Pure parts (no pygame): `graph` (walking graph and routes), `walking` (minutes, steps, kcal),
`courses` (jogging intensity), `catalog` (what can be searched), `handoff` (the route URL).
Drawing: `screens`; state: `session`; scripted runs for authors and tests: `script`.
"""
