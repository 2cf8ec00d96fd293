// Event-loop stalls with their cause: a 10 ms interval notes every turn that came `thresholdMs` or
// more late, with the CPU time the process used meanwhile. A stall whose CPU time is close to its
// length was the process's own work (callbacks, GC); one with little CPU time was the process waiting
// for a CPU (or blocked in a system call). What tells a bench's own limits from the code under test.
export function watchStalls (thresholdMs = 50) {
  let stalls = []
  let last = performance.now()
  let lastCpu = process.cpuUsage()
  setInterval(() => {
    const t = performance.now()
    const cpu = process.cpuUsage()
    // A 10 ms timer fires 10 ms after the previous turn at the earliest: the rest is lateness.
    const late = t - last - 10
    if (late >= thresholdMs) {
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000
      stalls.push({ at: performance.timeOrigin + last, ms: Math.round(late), cpuMs: Math.round(cpuMs) })
    }
    last = t
    lastCpu = cpu
  }, 10).unref()
  return {
    reset () { stalls = [] },
    /** The stalls since the reset, and their total length and CPU time. */
    summary: () => ({ count: stalls.length, ms: stalls.reduce((n, s) => n + s.ms, 0), cpuMs: stalls.reduce((n, s) => n + s.cpuMs, 0), stalls })
  }
}
