import { sep } from 'node:path';

/**
 * A load failure's message as a client may see it: paths inside the repository become
 * relative (`emotion/1/model.onnx`), and any other absolute path is replaced. The log
 * keeps the full message.
 */
export function clientSafeMessage(message: string, repository: string): string {
  const prefix = repository.endsWith(sep) ? repository : `${repository}${sep}`;
  return message
    .split(prefix)
    .join('')
    .replace(/(^|[\s"'(=:])\/(?:[^\s"'():,]+\/)+[^\s"'():,]*/g, '$1<path>');
}
