import autocannon from 'autocannon';
const [url, conns, secs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const bodies = [];
for (let b = 0; b < 32; b++) { const data = Array.from({length:512}, (_, i) => Math.sin(i*0.37+b)); bodies.push(JSON.stringify({inputs:[{name:'input',datatype:'FP32',shape:[1,512],data}]})); }
const r = await autocannon({ url, connections: conns, duration: secs, method:'POST', headers:{'content-type':'application/json'}, requests: bodies.map(body=>({method:'POST', path:'/v2/models/mlp-classifier/infer', body})) });
console.log(JSON.stringify({rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors}));
