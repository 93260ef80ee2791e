import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  node: string;
  kernel: string;
  memGiB: number;
  /** 1-minute load average at the start: other work on the box skews every figure. */
  load1: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism?.() ?? cpus.length,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    memGiB: os.totalmem() / 2 ** 30,
    load1: os.loadavg()[0] ?? 0,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpuModel} × ${m.cpus} CPUs, ${m.memGiB.toFixed(0)} GiB RAM, Node ${m.node}, ${m.kernel}, load average ${m.load1.toFixed(2)} at start`;
}
