"""Rehearsals: bots play every seat of a session on a real server, and a report says
whether every screen showed exactly its audience's events.

- `server`: a real Daphne subprocess on a free port, against this process's database;
- `browser`, `frames`: what a browser and `static/simtrain/live.js` do, for bots;
- `bot`: one participant over HTTP + WebSocket, random but reproducible from a seed;
- `plan`: what the bots need to know about a scenario version;
- `report`: the log compared with what each bot was shown;
- `stack`: the processes a rehearsal runs against (one Daphne, or the scale-out shape);
- `chaos`: faults injected during a rehearsal, and the resync times they cost;
- `runner`: the whole rehearsal (`simulate()`), as `manage.py simulate_session` runs it.
"""
