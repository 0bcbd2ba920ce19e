// Instants shown in a contract's time zone: the printed slips, the CSV log. Pure functions; the
// caller makes one clock per export, since making a DateTimeFormat costs far more than using one.

export interface ZonedParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
  /** Minutes east of UTC at that instant (Moscow: 180). */
  offsetMinutes: number;
}

export interface ZonedClock {
  readonly timeZone: string;
  parts(at: Date): ZonedParts;
  /** ISO 8601 with the zone's offset, to the second: `2026-11-23T13:00:00+03:00`. */
  iso(at: Date): string;
  /** dd.mm.yyyy, as Russian paperwork writes dates. */
  date(at: Date): string;
  /** hh:mm, 24-hour. */
  time(at: Date): string;
  /** yyyy-mm-dd, for file names. */
  fileDate(at: Date): string;
  /** `UTC+03:00`. */
  offset(at: Date): string;
  /** The instant the zone's day begins (month and day may overflow, as in Date.UTC). */
  startOfDay(year: number, month: number, day: number): Date;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `+03:00`, `-03:30`, `+00:00`. */
export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function zonedClock(timeZone: string): ZonedClock {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const parts = (at: Date): ZonedParts => {
    const all = format.formatToParts(at);
    const part = (type: string) => all.find((p) => p.type === type)!.value;
    const p = { year: part('year'), month: part('month'), day: part('day'), hour: part('hour'), minute: part('minute'), second: part('second') };
    // The wall clock read as if it were UTC, minus the instant itself, is the zone's offset.
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    const whole = Math.floor(at.getTime() / 1000) * 1000;
    return { ...p, offsetMinutes: Math.round((wall - whole) / 60_000) };
  };
  return {
    timeZone,
    parts,
    iso(at) {
      const p = parts(at);
      return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${offsetText(p.offsetMinutes)}`;
    },
    date(at) {
      const p = parts(at);
      return `${p.day}.${p.month}.${p.year}`;
    },
    time(at) {
      const p = parts(at);
      return `${p.hour}:${p.minute}`;
    },
    fileDate(at) {
      const p = parts(at);
      return `${p.year}-${p.month}-${p.day}`;
    },
    offset(at) {
      return `UTC${offsetText(parts(at).offsetMinutes)}`;
    },
    startOfDay(year, month, day) {
      // Midnight on the wall clock, less the offset in force then; a second pass settles a day on
      // which the offset changes.
      const wall = Date.UTC(year, month - 1, day);
      let at = wall - parts(new Date(wall)).offsetMinutes * 60_000;
      at = wall - parts(new Date(at)).offsetMinutes * 60_000;
      return new Date(at);
    },
  };
}
