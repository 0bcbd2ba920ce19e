import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { DataDirLocked, LOCK_FILE, lockDataDir, lockHolder } from '../../src/store/lock.js';
import { tempDir } from '../helpers/process.js';

t.test('a data directory is held by one opener at a time, and freed on release', async (t) => {
  const dir = tempDir();
  const lock = lockDataDir(dir);
  t.same(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  t.equal(lockHolder(dir)?.pid, process.pid);
  t.throws(() => lockDataDir(dir), DataDirLocked, 'a second open, even in this process, is refused');
  t.throws(() => lockDataDir(dir), { message: `data directory ${dir} is in use by process ${process.pid}; only one process may open it` });
  lock.release();
  t.notOk(existsSync(path.join(dir, LOCK_FILE)));
  t.equal(lockHolder(dir), null);
  lockDataDir(dir).release();
});

t.test('a lock left by a dead process, or by our own PID reused, is taken over', async (t) => {
  const dir = tempDir();
  const gone = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: gone, host: hostname(), start: '1' }));
  t.equal(lockHolder(dir), null, 'nobody holds it');
  lockDataDir(dir).release();
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), start: '1' }));
  lockDataDir(dir).release();
  writeFileSync(path.join(dir, LOCK_FILE), 'garbage');
  lockDataDir(dir).release();
  t.pass('taken over each time');
});

t.test("a live process holds it; one on another host is assumed alive", async (t) => {
  const dir = tempDir();
  const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), start }));
  t.throws(() => lockDataDir(dir), { message: `data directory ${dir} is in use by process ${process.ppid}; only one process may open it` });
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), start: String(Number(start) + 1) }));
  lockDataDir(dir).release(); // the same PID, started at another time: reused, so stale
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', start: '1' }));
  t.throws(() => lockDataDir(dir), { message: /in use by process 1 on host elsewhere; .*remove .*kalitka\.lock only if that process is gone/ });
});
