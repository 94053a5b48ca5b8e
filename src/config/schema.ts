// The config schema, assembled from the monitor registry: each monitor owns the schema under `monitors.<name>`.
import { z } from 'zod';
import { monitors } from '../monitors/registry.js';
import type { BaseOptions } from '../monitors/types.js';
import { logLevels } from '../log.js';

const positive = (what: string) => z.number({ error: `expected ${what}` }).positive({ error: `expected ${what}` });
/** A positive number of seconds up to `max`: a timer of more than 2^31-1 ms (24.8 days) would fire at once. */
const seconds = (max: number) =>
  positive('a positive number of seconds').max(max, { error: `expected at most ${max} seconds${max === 3600 ? ' (one hour)' : ''}` });
const wholeAtLeast = (n: number) =>
  z.number({ error: `expected a whole number >= ${n}` }).int({ error: `expected a whole number >= ${n}` }).min(n, {
    error: `expected a whole number >= ${n}`,
  });

const nonNegative = (what: string) => z.number({ error: `expected ${what}` }).min(0, { error: `expected ${what}` });

const monitorsSchema = z.strictObject(
  Object.fromEntries(monitors.map((m) => [m.name, m.options.prefault({})])) as Record<string, z.ZodType<BaseOptions, unknown>>,
);

export const outputFormats = ['csv', 'ndjson'] as const;

/** output.rotate's defaults: a new file every UTC day and at 256 MiB, the closed one gzipped. */
export const defaultRotate = { daily: true, max_file_mb: 256, compress: true } as const;
/** output.retention's defaults: rotated files kept 14 days, and all of ebpfmon's files in the directory under 2 GiB. */
export const defaultRetention = { max_age_days: 14, max_total_mb: 2048 } as const;

export const configSchema = z.strictObject({
  app: z
    .strictObject({
      name: z.string({ error: 'expected a string' }).min(1, { error: 'expected a name, not an empty string' }).default('ebpfmon'),
      debug: z.boolean({ error: 'expected true or false' }).default(false),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(logLevels, { error: `expected one of ${logLevels.join(', ')}` }).default('info'),
      file: z.string({ error: 'expected a file path' }).min(1, { error: 'expected a file path (or null for stderr), not an empty string' }).nullable().default(null),
    })
    .prefault({}),
  output: z
    .strictObject({
      directory: z.string({ error: 'expected a directory path' }).min(1, { error: 'expected a directory path, not an empty string' }).default('ebpfmon-output'),
      buffer_rows: wholeAtLeast(1).default(500),
      flush_interval: seconds(3600).default(1),
      console: z.boolean({ error: 'expected true or false' }).default(false),
      prometheus: z
        .strictObject({
          enabled: z.boolean({ error: 'expected true or false' }).default(false),
          listen: z
            .string({ error: 'expected host:port' })
            .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:9464' })
            .default('127.0.0.1:9464'),
          path: z.string({ error: 'expected a URL path' }).regex(/^\/[A-Za-z0-9_./-]*$/, { error: 'expected a URL path such as /metrics' }).default('/metrics'),
          /** Per-process metrics show this many busiest commands of each scrape window; the rest add to comm="other". */
          max_comm_series: wholeAtLeast(1).default(200),
          /** Also a cpu label on interrupts, softirqs and page faults: series x CPUs (off: summed over CPUs). */
          per_cpu: z.boolean({ error: 'expected true or false' }).default(false),
          /** TLS and basic auth, in Prometheus exporter-toolkit's web config format (--web.config.file overrides it). */
          web_config_file: z.string({ error: 'expected a file path' }).min(1, { error: 'expected a file path' }).optional(),
        })
        .prefault({}),
      format: z
        .union([z.enum(outputFormats), z.array(z.enum(outputFormats)).min(1)], { error: 'expected csv, ndjson, or a list of them' })
        .default('csv')
        .transform((f) => [...new Set(Array.isArray(f) ? f : [f])]),
      // On by default: ebpfmon runs for months, and seven monitors write about 15 GiB a day on a quiet host
      // (docs/operations.md "Files over weeks"). The output directory then holds at most max_total_mb plus the open files
      // (one per monitor and format, each under max_file_mb): `ebpfmon check` prints that bound.
      rotate: z
        .strictObject({
          daily: z.boolean({ error: 'expected true or false' }).default(defaultRotate.daily),
          max_file_mb: wholeAtLeast(1).max(1_048_576, { error: 'expected at most 1048576 (1 TiB)' }).nullable().default(defaultRotate.max_file_mb),
          compress: z.boolean({ error: 'expected true or false' }).default(defaultRotate.compress),
        })
        .prefault({}),
      retention: z
        .strictObject({
          max_age_days: nonNegative('a number of days >= 0 (0: keep all)').default(defaultRetention.max_age_days),
          max_total_mb: nonNegative('a number of MiB >= 0 (0: no limit)').default(defaultRetention.max_total_mb),
        })
        .prefault({}),
    })
    .prefault({}),
  runtime: z
    .strictObject({
      bpftrace: z
        .string({ error: 'expected the bpftrace command or an absolute path' })
        .regex(/^(\/[\w./+-]+|[\w.+-]+)$/, { error: 'expected the bpftrace command or an absolute path' })
        .default('bpftrace'),
      shared_process: z.boolean({ error: 'expected true or false' }).default(true),
      aot: z.boolean({ error: 'expected true or false' }).default(true),
      max_restarts: wholeAtLeast(0).default(5),
      attach_timeout: seconds(3600).default(120),
      self_stats: z.boolean({ error: 'expected true or false' }).default(false),
      double_buffer: z.boolean({ error: 'expected true or false' }).default(true),
      max_cpu_percent: positive('a percentage of one CPU, e.g. 5').max(100, { error: 'expected at most 100 (one whole CPU)' }).optional(),
      budget_intervals: wholeAtLeast(1).default(3),
      budget_action: z.enum(['warn', 'stop'], { error: 'expected warn or stop' }).default('warn'),
      map_keys_max: wholeAtLeast(1024).max(1_048_576, { error: 'expected at most 1048576 keys' }).default(32768),
      perf_rb_pages: wholeAtLeast(8).default(256),
    })
    .prefault({}),
  monitors: monitorsSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
