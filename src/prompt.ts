
/** All of standard input (piped), up to a limit. */
async function readPiped(limit = 64 * 1024): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    text += chunk;
    if (text.length > limit) break;
  }
  return text;
}

/** One line typed on the terminal without echo (raw mode); Ctrl-C or Ctrl-D on an empty line abort. */
function readHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || (ch === '\u0004' && typed === '')) return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * A new password: the first line of standard input when it is piped, else asked twice on the
 * terminal without echo. Never an argument: the command line ends up in shell history and `ps`.
 */
export async function readNewPassword(question: string): Promise<string> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await readHidden(question);
    if ((await readHidden('Again: ')) !== password) throw new Error('the two passwords differ; nothing changed');
  } else {
    const text = await readPiped();
    const nl = text.search(/\r?\n/);
    password = nl < 0 ? text : text.slice(0, nl);
    if (password === '') throw new Error('no password on standard input (pipe it in, or run on a terminal to be asked)');
  }
  const { PASSWORD_MAX, PASSWORD_MIN } = await import('./domain/users.js');
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) throw new Error(`a password is ${PASSWORD_MIN} to ${PASSWORD_MAX} characters; nothing changed`);
  return password;
}
