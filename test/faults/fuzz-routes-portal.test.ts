import t from 'tap';
import { fuzzEveryRoute } from '../helpers/routeFuzz.js';

t.test('every route of the portal and public pages: NUL, invalid UTF-8, 1 MB strings, wrong types and arrays never make a 500, and a refusal changes nothing', (t) =>
  fuzzEveryRoute(t, 'portal', ['POST /portal/:networkId/activate', 'GET /portal/:networkId']),
);
