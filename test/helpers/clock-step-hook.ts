// Preloaded into the CLI by clock-step.test.ts (`node --import`): steps Node's wall clock (Date.now) by
// EBPFMON_TEST_CLOCK_STEP_S seconds, EBPFMON_TEST_CLOCK_STEP_AFTER_MS after start, as NTP or `date -s` steps a
// host's. CLOCK_MONOTONIC (hrtime, timers, bpftrace's nsecs) does not move, as on a real host. The host's own
// clock cannot be stepped in a test: everything else on the machine would see it.
const stepMs = Number(process.env['EBPFMON_TEST_CLOCK_STEP_S'] ?? 0) * 1000;
const afterMs = Number(process.env['EBPFMON_TEST_CLOCK_STEP_AFTER_MS'] ?? 0);
const realNow = Date.now.bind(Date);
let offset = 0;
setTimeout(() => (offset = stepMs), afterMs).unref();
Date.now = () => realNow() + offset;
