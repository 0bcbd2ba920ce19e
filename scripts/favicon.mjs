#!/usr/bin/env node
// Draws the portal's favicon.ico (16, 32 and 48 px PNGs in one ICO) from the same shapes as the
// panel's favicon.svg: a green rounded square with a white «К». Run it after changing the shapes:
//   node scripts/favicon.mjs > portal-templates/assets/favicon.ico
import { deflateSync } from 'node:zlib';

const GREEN = [0x0b, 0x6e, 0x4f];
const STROKES = [[9, 7, 9, 25], [9, 16, 20, 7], [9, 16, 20, 25]]; // in a 32-unit square, 3 wide, round caps
const HALF_WIDTH = 1.5;
const RADIUS = 6;

const nearSegment = (px, py, [x1, y1, x2, y2]) => {
  const [dx, dy] = [x2 - x1, y2 - y1];
  const t = Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy)) <= HALF_WIDTH;
};
const inSquare = (x, y) => {
  const cx = Math.min(Math.max(x, RADIUS), 32 - RADIUS);
  const cy = Math.min(Math.max(y, RADIUS), 32 - RADIUS);
  return Math.hypot(x - cx, y - cy) <= RADIUS;
};

/** RGBA pixels of one size, 4×4 samples per pixel. */
function pixels(size) {
  const out = Buffer.alloc(size * size * 4);
  const n = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let [square, white] = [0, 0];
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const [ux, uy] = [((x + (sx + 0.5) / n) * 32) / size, ((y + (sy + 0.5) / n) * 32) / size];
          if (!inSquare(ux, uy)) continue;
          square++;
          if (STROKES.some((s) => nearSegment(ux, uy, s))) white++;
        }
      }
      const i = (y * size + x) * 4;
      const w = square ? white / square : 0;
      for (let c = 0; c < 3; c++) out[i + c] = Math.round(GREEN[c] * (1 - w) + 255 * w);
      out[i + 3] = Math.round((square / (n * n)) * 255);
    }
  }
  return out;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
};

function png(size) {
  const rgba = pixels(size);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const sizes = [16, 32, 48];
const images = sizes.map(png);
const header = Buffer.alloc(6 + 16 * sizes.length);
header.writeUInt16LE(0, 0);
header.writeUInt16LE(1, 2); // icon
header.writeUInt16LE(sizes.length, 4);
let offset = header.length;
sizes.forEach((size, i) => {
  const e = 6 + 16 * i;
  header.writeUInt8(size, e);
  header.writeUInt8(size, e + 1);
  header.writeUInt16LE(1, e + 4); // planes
  header.writeUInt16LE(32, e + 6); // bits per pixel
  header.writeUInt32LE(images[i].length, e + 8);
  header.writeUInt32LE(offset, e + 12);
  offset += images[i].length;
});
process.stdout.write(Buffer.concat([header, ...images]));
