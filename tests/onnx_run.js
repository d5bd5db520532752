// onnx_run.js — runs ONNX models in ONNX Runtime (npm onnxruntime-node, CPU)
// for tests/test_onnx.c.
//
//   node onnx_run.js NODE_MODULES JOBS.json
//
// JOBS.json is a list of {"model": FILE, "inputs": [{"name", "type"
// (float32|int32|bool), "dims": [...], "file": raw little-endian values}],
// "output": FILE}. Each job's outputs are written to its output file in the
// model's output order, each as int32 rank, int32 dims, then its values as
// float32 (int64, int32 and bool values converted). Exit status 1 with a
// line naming the job on any failure; 2 when onnxruntime-node cannot be
// loaded.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
    const [modules, jobsFile] = process.argv.slice(2);
    let ort;
    try {
        ort = require(path.join(path.resolve(modules), 'onnxruntime-node'));
    } catch (e) {
        console.error(`onnx_run.js: cannot load onnxruntime-node from ${modules}: ${e.message}`);
        process.exit(2);
    }
    const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8'));
    for (const job of jobs) {
        try {
            const session = await ort.InferenceSession.create(job.model);
            const feeds = {};
            for (const inp of job.inputs) {
                const buf = fs.readFileSync(inp.file);
                const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
                let data;
                if (inp.type === 'float32') data = new Float32Array(bytes.buffer);
                else if (inp.type === 'int32') data = new Int32Array(bytes.buffer);
                else data = new Uint8Array(bytes.buffer).map((v) => (v ? 1 : 0));
                feeds[inp.name] = new ort.Tensor(inp.type, data, inp.dims);
            }
            const results = await session.run(feeds);
            const parts = [];
            for (const name of session.outputNames) {
                const t = results[name];
                const head = new Int32Array(1 + t.dims.length);
                head[0] = t.dims.length;
                t.dims.forEach((d, i) => { head[1 + i] = Number(d); });
                const values = Float32Array.from(t.data, (v) => Number(v));
                parts.push(Buffer.from(head.buffer), Buffer.from(values.buffer));
            }
            fs.writeFileSync(job.output, Buffer.concat(parts));
        } catch (e) {
            console.error(`onnx_run.js: ${job.model}: ${e.message}`);
            process.exit(1);
        }
    }
}

main();
