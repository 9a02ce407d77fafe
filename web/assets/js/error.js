// Error pages (403, 404): only the common parts.
import './common.js';
