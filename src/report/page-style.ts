// The report's stylesheet: plain, printable, numbers right-aligned in tabular figures.
export const PAGE_STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d1d1f; margin: 0; background: #fafafa; }
header, main { max-width: 1400px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 2px; padding-top: 8px; border-top: 1px solid #ddd; }
h3 { font-size: 15px; margin: 16px 0 4px; }
.help { color: #555; margin: 0 0 10px; max-width: 900px; }
.note { color: #666; font-style: italic; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; margin: 6px 0 8px; }
th, td { padding: 5px 9px; border-bottom: 1px solid #e6e6e6; text-align: left; white-space: nowrap; }
thead th { background: #f0f0f3; font-weight: 600; border-bottom: 2px solid #ccc; }
thead th[title] { cursor: help; text-decoration: underline dotted #999; }
tbody tr:nth-child(even) { background: #f8f8fa; }
tbody th { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num .ci, td.num .n { display: block; font-size: 0.8em; color: #555; white-space: nowrap; }
td.missing { color: #aaa; text-align: center; }
td.unavailable { text-align: right; }
td.unavailable span { color: #a15c00; font-style: italic; cursor: help; text-decoration: underline dotted; }
th.runs { white-space: normal; max-width: 360px; font-weight: 600; }
span.file { cursor: help; text-decoration: underline dotted #999; }
td ul { margin: 0; padding-left: 18px; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #e1ecfd; color: #234; margin-left: 4px; }
td.small { font-size: 12px; color: #555; white-space: normal; }
.role { font-size: 11px; font-weight: 500; padding: 1px 6px; border-radius: 8px; background: #e8e8e8; color: #333; }
.role-target { background: #fde2e1; } .role-retain { background: #dff3e2; } .role-unlearned { background: #e1ecfd; } .role-baseline { background: #f3ecd9; }
details { margin: 4px 0 10px; } summary { cursor: pointer; color: #345; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; } dt { font-weight: 600; } dd { margin: 0; color: #444; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
.chart { margin: 8px 0 14px; background: #fff; padding: 6px; }
.uplot .u-title { font-size: 14px; font-weight: 600; }
`;
