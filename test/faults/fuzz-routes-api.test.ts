import t from 'tap';
import { fuzzEveryRoute } from '../helpers/routeFuzz.js';

t.test('every route of the API: NUL, invalid UTF-8, 1 MB strings, wrong types and arrays never make a 500, and a refusal changes nothing', (t) =>
  fuzzEveryRoute(t, 'api', ['POST /api/v1/radius/authorize', 'PATCH /api/v1/tokens/:id', 'GET /api/v1/contracts/:id/identifications']),
);
