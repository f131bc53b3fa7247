// The operator page: every fixture of the station, one tile each.
import { session, header, ApiError } from './api.js';
import { Station } from './station.js';

try {
  const me = await session('operator');
  header(me, '/');
  const station = new Station(document.getElementById('tiles'));
  window.__rigStation = station;
  await station.start();
} catch (e) {
  if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) throw e;
}
