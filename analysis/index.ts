// The offline analyzer: ebpfmon's CSV files in, a report out (text, json or html). src/ never imports this.
export { analyze, defaultTop, type AnalyzeOptions, type Progress } from './analyze.js';
export { parseWindow, type Window } from './window.js';
export { renderText } from './render/text.js';
export { renderJson, toJsonReport, type JsonReport } from './render/json.js';
export { renderHtml } from './render/html.js';
export { analyzedMonitors } from './monitors/index.js';
export type { Report, Section, Table } from './model.js';
export type { CsvParser } from './read-csv.js';
