import { isDatatype } from '../../../../workers/protocol/datatypes.js';
import { ServingError } from '../../../../workers/protocol/errors.js';
import { elementCount } from '../../../../workers/protocol/tensor.js';
import { decodeJsonData, flattenData } from '../../../protocol/json-tensor-data.js';
import type { Transform } from '../transform.js';

/** A JSON input `{datatype, shape, data}` (OIP's tensor form) as a tensor, for pipelines fed numbers. */
export const tensorFromJson: Transform = {
  name: 'tensor-from-json',
  inputs: ['value'],
  outputs: ['tensor'],
  checkOptions(options) {
    if (Object.keys(options).length > 0) throw new Error('takes no options');
  },
  async run({ value }) {
    const invalid = (message: string): ServingError => new ServingError('invalid_request', `tensor-from-json: ${message}`);
    if (typeof value !== 'object' || value === null) throw invalid('needs an object {datatype, shape, data}');
    const { datatype, shape, data } = value as Record<string, unknown>;
    if (!isDatatype(datatype)) throw invalid(`unknown datatype ${JSON.stringify(datatype)}`);
    if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && dim >= 0))
      throw invalid('shape must be a list of integers >= 0');
    if (!Array.isArray(data)) throw invalid('data must be a list');
    const flat = flattenData(data);
    if (flat.length !== elementCount(shape as number[]))
      throw new ServingError('shape_data_mismatch', `tensor-from-json: ${flat.length} elements do not fill shape [${shape.join(',')}]`);
    return { tensor: { name: 'tensor', datatype, shape: shape as number[], data: decodeJsonData('tensor', datatype, flat) } };
  },
};
