"""Content authoring: `walkway content build|lint` turn an editor's source folder (TOML per
scene, CSV lists, per-language string files, an iCalendar feed, images) into a verified,
optionally signed, package folder. docs/content.md describes the source layout.
"""
