// The Node host's egress point, the twin of the Rust host's egress hook:
// only Meta's Graph API host is allowed, and its traffic can be pointed at a
// local double with GRAPH_URL (e.g. http://127.0.0.1:8080).
import { outgoingHandler as shim } from '@bytecodealliance/preview2-shim/http';

const GRAPH_HOST = 'graph.facebook.com';

export const outgoingHandler = {
  handle(request, options) {
    if (request.authority() !== GRAPH_HOST) {
      throw { tag: 'HTTP-request-denied' };
    }
    const redirect = process.env.GRAPH_URL;
    if (redirect) {
      const url = new URL(redirect);
      request.setScheme({ tag: url.protocol === 'https:' ? 'HTTPS' : 'HTTP' });
      request.setAuthority(url.host);
    }
    return shim.handle(request, options);
  },
};
