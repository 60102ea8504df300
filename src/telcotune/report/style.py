"""The report page's stylesheet, inlined into index.html (no external file to lose)."""

CSS = """
:root { --accent: #1f5fa8; --muted: #5b6673; --line: #d8dee6; --note: #fff6e5; --noteline: #e29a1b;
        --finding: #eaf2fb; --bg: #ffffff; --zebra: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: #1b1f24;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 8px 0 12px; }
h2 { font-size: 22px; margin: 40px 0 12px; padding-top: 16px; border-top: 2px solid var(--line); }
h3 { font-size: 17px; margin: 24px 0 8px; }
h4 { font-size: 15px; margin: 0 0 8px; }
h5 { font-size: 13px; margin: 0 0 6px; color: var(--accent); }
nav { background: var(--zebra); border: 1px solid var(--line); border-radius: 6px; padding: 4px 18px 10px; }
nav h2 { border: 0; margin: 8px 0; padding: 0; font-size: 16px; }
nav ul { list-style: none; margin: 0; padding: 0; columns: 2; }
nav a { color: var(--accent); text-decoration: none; }
.note { background: var(--note); border-left: 4px solid var(--noteline); padding: 8px 12px; border-radius: 3px; }
.finding { background: var(--finding); border-left: 4px solid var(--accent); padding: 10px 14px;
           border-radius: 3px; font-weight: 600; }
.table-wrap { overflow-x: auto; margin: 10px 0 16px; }
table { border-collapse: collapse; font-size: 13px; min-width: 40%; }
caption { caption-side: bottom; text-align: left; color: var(--muted); font-size: 12px; padding-top: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--zebra); font-weight: 600; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--zebra); border: 1px solid var(--line); border-radius: 4px; padding: 10px;
      overflow-x: auto; font-size: 12px; }
.sample { border: 1px solid var(--line); border-radius: 6px; padding: 12px; margin: 16px 0; }
.conversation { margin-bottom: 10px; }
.turn { display: flex; gap: 10px; margin: 4px 0; font-size: 13px; }
.turn .role { flex: 0 0 76px; color: var(--muted); font-weight: 600; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.answers { display: grid; gap: 10px; }
.answers.cols-1 { grid-template-columns: 1fr; }
.answers.cols-2 { grid-template-columns: 1fr 1fr; }
.answers.cols-3 { grid-template-columns: 1fr 1fr 1fr; }
.answer { background: var(--zebra); border-radius: 4px; padding: 8px 10px; font-size: 13px; }
@media (max-width: 800px) { .answers.cols-2, .answers.cols-3 { grid-template-columns: 1fr; } nav ul { columns: 1; } }
"""
