import t from 'tap';
import { fuzzEveryRoute } from '../helpers/routeFuzz.js';

t.test('every route of the panel: NUL, invalid UTF-8, 1 MB strings, wrong types and arrays never make a 500, and a refusal changes nothing', (t) =>
  fuzzEveryRoute(t, 'panel', ['POST /admin/login', 'POST /admin/tokens/generate', 'POST /admin/logout']),
);
