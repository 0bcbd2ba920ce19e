#!/usr/bin/env node
// Times the slips PDF for a full contract (200 unused tokens): the first render in a fresh process
// (fonts parsed, code cold) and warm renders after it, on A4 or the 80 mm roll
// (`node scripts/bench-pdf.mjs [runs] [a4|roll80]`). Run `npm run build` first.
import { generateCode } from '../dist/domain/code.js';
import { slipPrinter } from '../dist/pdf/slips.js';

const runs = Number(process.argv[2] ?? 10);
const layout = process.argv[3] ?? 'a4';
const printer = slipPrinter();
const createdAt = new Date();
const slips = Array.from({ length: 200 }, (_, i) => ({
  code: generateCode(),
  multiUse: i % 5 === 0,
  durationDays: i % 7 === 0 ? null : (i % 30) + 1,
  createdAt,
  issuedTo: i % 10 === 0 ? 'Иванов Иван Иванович, паспорт 4510 123456' : null,
  limits: null,
}));
const sheet = {
  contractName: 'Кафе «Калитка»',
  networks: ['Кафе «Калитка» гостевая', 'Kalitka Guest 5G'],
  join: { kind: 'portal', text: 'https://wifi.example/portal/2f1c8e3a-1111-4222-8333-444455556666' },
  slips,
  printedAt: createdAt,
  timeZone: 'Europe/Moscow',
};

const times = [];
const cpus = [];
let size = 0;
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  size = (await printer.render(sheet, layout)).length;
  times.push(performance.now() - started);
  // CPU time tells the work apart from waiting for a busy machine.
  cpus.push(process.cpuUsage(cpu).user / 1000);
}
const [first, ...warm] = times;
warm.sort((a, b) => a - b);
const median = warm.length ? warm[Math.floor(warm.length / 2)] : first;
const [firstCpu, ...warmCpu] = cpus;
warmCpu.sort((a, b) => a - b);
const medianCpu = warmCpu.length ? warmCpu[Math.floor(warmCpu.length / 2)] : firstCpu;
console.log(
  `200 slips (${layout}), ${size} bytes: first ${first.toFixed(0)} ms (${firstCpu.toFixed(0)} ms CPU), ` +
    `warm median ${median.toFixed(0)} ms (${medianCpu.toFixed(0)} ms CPU), warm max ${(warm.at(-1) ?? first).toFixed(0)} ms`,
);
