"""Parallel syndicates: one exercise, several teams on one scenario version, one control room.

A course trains more people than one scenario's seats: the trainees are split into
syndicates (teams) that play the same scenario at the same time, then meet in plenary.
Each syndicate *is* a full session (its own seats, log, chat, decisions, code); the
exercise ties them together:

- `models`     Exercise, Syndicate (exercise ↔ session), ExerciseEntry (the one-code lobby)
- `services`   create the exercise in one step; drive all syndicates or one, through the
               engine, one command per session, each refused or not on its own;
               place a trainee who came in with the exercise code
- `selectors`  the side-by-side overview of the control room
- `plenary`    the comparison after the exercise (decisions, timings, measures, graphs)
- `views`      the pages (control room, displays, join, plenary, exports)
"""
