import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, lazyChild } from '../../src/log.js';

function sink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, stream };
}

t.test('a request logger is made on its first kept line and carries its bindings and the redaction', async (t) => {
  const { lines, stream } = sink();
  const parent = createLogger('warn', stream);
  let made = 0;
  const counting = Object.assign(Object.create(parent), { child: (...args: Parameters<typeof parent.child>) => (made++, parent.child(...args)) });
  const log = lazyChild(counting, { reqId: 'req-7' });
  log.info('dropped at warn');
  log.debug({ token: 'x' }, 'dropped too');
  t.equal(made, 0, 'no child for lines the level drops');
  t.equal(log.level, 'warn');
  log.warn({ password: 'hunter22' }, 'kept');
  t.equal(made, 1);
  log.error('kept again');
  t.equal(made, 1, 'made once');
  t.same(
    lines.map((l) => [l.msg, l.reqId, l.password]),
    [
      ['kept', 'req-7', '[redacted]'],
      ['kept again', 'req-7', undefined],
    ],
  );
});
