#!/usr/bin/env node
// Times the slips PDF for a full contract (200 unused tokens): the first render in a fresh process
// (fonts read and parsed, code cold) and warm renders after it. Run `npm run build` first.
import { generateCode } from '../dist/domain/code.js';
import { renderSlips } from '../dist/domain/slips.js';

const runs = Number(process.argv[2] ?? 10);
const createdAt = new Date();
const slips = Array.from({ length: 200 }, (_, i) => ({
  code: generateCode(),
  multiUse: i % 5 === 0,
  durationDays: i % 7 === 0 ? null : (i % 30) + 1,
  createdAt,
  issuedTo: i % 10 === 0 ? 'Иванов Иван Иванович, паспорт 4510 123456' : null,
}));
const sheet = { networks: ['Кафе «Калитка» гостевая', 'Kalitka Guest 5G'], slips, printedAt: createdAt };

const times = [];
let size = 0;
let firstCpu = 0;
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  size = (await renderSlips(sheet)).length;
  times.push(performance.now() - started);
  // CPU time tells the work apart from waiting for a busy machine.
  if (i === 0) firstCpu = process.cpuUsage(cpu).user / 1000;
}
const [first, ...warm] = times;
warm.sort((a, b) => a - b);
const median = warm.length ? warm[Math.floor(warm.length / 2)] : first;
console.log(`200 slips, ${size} bytes: first ${first.toFixed(0)} ms (${firstCpu.toFixed(0)} ms CPU), warm median ${median.toFixed(0)} ms, warm max ${(warm.at(-1) ?? first).toFixed(0)} ms`);
