// Where the host's cost calibration is cached: its own file, so that the command line can name it in `check --help`
// without loading the forecast code.
import path from 'node:path';

export const calibrationDir = '/var/cache/ebpfmon';
export const calibrationFile = path.join(calibrationDir, 'calibration.json');
