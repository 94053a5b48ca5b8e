// What `ebpfmon top` can sort by: its own file, so that the command line (program.ts) names the choices without
// loading the view.
/** What the view can sort by; each has a key press (keys.ts) and a column (draw.ts). */
export const sortKeys = ['syscalls', 'errors', 'opens', 'faults', 'switches', 'bio'] as const;
export type SortKey = (typeof sortKeys)[number];
