"""People rate the study's answers, and the statistics say how far each LLM judge agrees with them.

`telcotune rate` serves a blind rating page (app.py) backed by one SQLite file (store.py);
human.py turns the ratings into people's ranking, inter-rater agreement, each judge's agreement
with people and the loss question, as typed results for ranking.json and the report.

Import the modules themselves (`from telcotune.rate.human import ...`): this package file
imports nothing, so the report and ranking.json's record can use the statistics without
loading the web app.
"""
