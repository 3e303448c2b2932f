import { describe, expect, it } from 'vitest';
import { clientSafeMessage } from '../../workers/repository/client-safe-message.js';

describe('clientSafeMessage', () => {
  it('makes repository paths relative and hides every other absolute path', () => {
    expect(clientSafeMessage('/srv/models/emotion/config.json: is not valid JSON', '/srv/models')).toBe(
      'emotion/config.json: is not valid JSON',
    );
    expect(clientSafeMessage('weights file /srv/models/x/1/model.onnx does not exist', '/srv/models/')).toBe(
      'weights file x/1/model.onnx does not exist',
    );
    expect(clientSafeMessage('Load model from /home/me/elsewhere/m.onnx failed: "/etc/passwd" (/tmp/a/b)', '/srv/models')).toBe(
      'Load model from <path> failed: "<path>" (<path>)',
    );
    expect(clientSafeMessage('emotion: shape [1,-1] is fine, 3/4 done', '/srv/models')).toBe('emotion: shape [1,-1] is fine, 3/4 done');
  });
});
