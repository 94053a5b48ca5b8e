// What `ebpfmon top` can sort by: its own file, so that the command line (program.ts) names the choices without
// loading the view.
/** What the view can sort by, in the order of the columns; each has a key press (keys.ts) and a column (draw.ts). */
export const sortKeys = ['cpu', 'mem', 'time', 'syscalls', 'errors', 'opens', 'faults', 'switches', 'bio'] as const;
export type SortKey = (typeof sortKeys)[number];
