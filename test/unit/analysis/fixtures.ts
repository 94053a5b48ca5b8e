// CSV sets with known numbers, written by the tests themselves: every figure the tests assert follows from these lines.
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { after } from 'node:test';
import os from 'node:os';
import path from 'node:path';

export const fixtureFiles: Record<string, string> = {
  'exec_20261125T010000Z.csv': [
    'timestamp,uid,pid,ppid,comm,filename,note',
    '2026-11-25T01:00:00.000Z,0,10,1,ls,/usr/bin/ls,',
    '2026-11-25T01:00:30.000Z,1000,11,1,ls,/usr/bin/ls,',
    '2026-11-25T01:01:00.000Z,1000,12,1,sh,/bin/sh,',
    '2026-11-25T01:02:00.000Z,1000,13,12,git,/usr/bin/git,',
  ].join('\n') + '\n',
  'syscall_20261125T000000Z.csv': [
    'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,note',
    '2026-11-25T00:00:02.000Z,100,nginx,0,read,io,100,0,0,2.5,10,',
    '2026-11-25T00:00:02.000Z,100,nginx,257,openat,file,50,5,0.1,,,',
    '2026-11-25T00:00:02.000Z,200,bash,0,read,io,20,0,0,1,3,',
    '2026-11-25T00:00:04.000Z,100,nginx,0,read,io,80,0,0,5,20,',
    '2026-11-25T00:00:04.000Z,200,bash,257,openat,file,10,10,1,,,',
    '2026-11-25T00:00:06.000Z,,,,,,,,,,,bpftrace restarted: counts of one interval lost',
    '2026-11-25T00:01:10.000Z,300,"we,ird",1,write,io,40,4,0.1,1.5,7,',
  ].join('\n') + '\n',
  'open_20261125T020000Z.csv': [
    'timestamp,pid,comm,filename,count,error_count,error_rate,note',
    '2026-11-25T02:00:05.000Z,1,cat,/etc/passwd,10,0,0,',
    '2026-11-25T02:00:05.000Z,2,cat,/nope,4,4,1,',
    '2026-11-25T02:00:10.000Z,3,vim,/etc/passwd,6,1,0.1667,',
  ].join('\n') + '\n',
  'bio_20261125T030000Z.csv': [
    'timestamp,pid,comm,device,io_type,count,total_bytes,avg_latency_us,min_latency_us,max_latency_us,throughput_mbps,note',
    '2026-11-25T03:00:05.000Z,1,postgres,nvme0n1,read,10,40960,100,50,300,0.008192,',
    '2026-11-25T03:00:05.000Z,1,postgres,nvme0n1,write,5,20480,200,150,400,0.004096,',
    '2026-11-25T03:00:10.000Z,2,dd,sda,write,5,1000000,400,10,900,0.2,',
  ].join('\n') + '\n',
  'func_20261125T040000Z.csv': [
    'timestamp,pid,comm,function,count,note',
    '2026-11-25T04:00:02.000Z,1,nginx,vfs_read,10,',
    '2026-11-25T04:00:02.000Z,1,nginx,vfs_write,5,',
    '2026-11-25T04:00:02.000Z,2,bash,vfs_read,3,',
    '2026-11-25T04:00:04.000Z,3,nginx,tcp_sendmsg,2,',
  ].join('\n') + '\n',
  'interrupt_20261125T050000Z.csv': [
    'timestamp,type,name,cpu,count,total_time_us,avg_time_us,max_time_us,note',
    '2026-11-25T05:00:02.000Z,hardirq,nvme0q1,0,100,200,2,9,',
    '2026-11-25T05:00:02.000Z,softirq,NET_RX,1,300,150,0.5,4,',
    '2026-11-25T05:00:02.000Z,softirq,TIMER,0,50,25,0.5,1,',
    '2026-11-25T05:00:04.000Z,hardirq,nvme0q1,1,100,100,1,3,',
  ].join('\n') + '\n',
  'page_fault_20261125T060000Z.csv': [
    'timestamp,pid,comm,fault_type,cpu,numa_node,count,note',
    '2026-11-25T06:00:01.000Z,1,java,user,0,0,100,',
    '2026-11-25T06:00:01.000Z,1,java,kernel,1,0,20,',
    '2026-11-25T06:00:01.000Z,2,bash,user,3,1,30,',
  ].join('\n') + '\n',
  'context_switch_20261125T070000Z.csv': [
    'timestamp,pid,comm,cpu,switches,voluntary,involuntary,note',
    '2026-11-25T07:00:02.000Z,1,postgres,0,100,90,10,',
    '2026-11-25T07:00:02.000Z,2,stress,1,50,5,45,',
    '2026-11-25T07:00:04.000Z,1,postgres,1,20,20,0,',
  ].join('\n') + '\n',
};

const created: string[] = [];
after(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export async function writeFiles(files: Record<string, string | Uint8Array>, prefix = 'analyze'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `ebpfmon-test-${prefix}-`));
  created.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

export const writeFixtureDir = (): Promise<string> => writeFiles(fixtureFiles);

/** Rounded as the analyzer rounds ratios. */
export const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
