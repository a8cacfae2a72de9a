//! One ONNX Runtime session of one model, checked against the manifest and run in batches.

use ndarray::{Array4, ArrayD, ArrayView4, Axis, IxDyn, Slice};
use ort::ep::ExecutionProviderDispatch;
use ort::session::{Session, SessionInputValue};
use ort::value::{Outlet, TensorElementType, TensorRef, ValueType};

use super::manifest::{Dim, ModelKind, TensorSpec, shape_text};
use super::pool::InferenceError;
use super::registry::{ModelRegistry, RegistryError};
use super::runtime::Runtime;

/// A session owned by one worker thread: `Session::run` takes `&mut self`.
pub(crate) struct ModelSession {
    kind: ModelKind,
    session: Session,
    input: TensorSpec,
    outputs: Vec<TensorSpec>,
}

impl ModelSession {
    /// Builds the session from the registry's verified bytes and checks that the model's inputs
    /// and outputs are the manifest's.
    pub(crate) fn open(
        runtime: &Runtime,
        registry: &ModelRegistry,
        kind: ModelKind,
        intra_threads: usize,
    ) -> Result<Self, RegistryError> {
        let session = build(runtime, registry.bytes(kind), intra_threads)
            .map_err(|source| RegistryError::Session { model: kind, source })?;
        let spec = registry.spec(kind);
        check_outlets(kind, "inputs", &spec.inputs, session.inputs())?;
        check_outlets(kind, "outputs", &spec.outputs, session.outputs())?;
        Ok(Self { kind, session, input: spec.inputs[0].clone(), outputs: spec.outputs.clone() })
    }

    /// The shape of one item of the input, e.g. `[2, 64, 64]`.
    pub(crate) fn item_dims(&self) -> Vec<usize> {
        self.input.item_dims()
    }

    /// Runs one batch of zeros so that the first real request does not pay for ONNX Runtime's
    /// lazy allocations, and so that the outputs' real shapes are checked at start-up.
    pub(crate) fn warm_up(&mut self, batch: usize) -> Result<(), InferenceError> {
        let [c, h, w] = self.item_dims()[..] else { unreachable!("the registry checks inputs are rank 4") };
        self.run(Array4::zeros((batch, c, h, w)).view(), batch).map(drop)
    }

    /// Runs the model over `tiles` in batches of at most `max_batch`, returning each output
    /// (in manifest order) for all tiles.
    pub(crate) fn run(&mut self, tiles: ArrayView4<f32>, max_batch: usize) -> Result<Vec<ArrayD<f32>>, InferenceError> {
        let n = tiles.len_of(Axis(0));
        // ONNX Runtime reads each batch as one contiguous block.
        let tiles = tiles.as_standard_layout();
        let mut results: Vec<ArrayD<f32>> =
            self.outputs.iter().map(|o| ArrayD::zeros(IxDyn(&[&[n][..], &o.item_dims()].concat()))).collect();
        for start in (0..n).step_by(max_batch) {
            let rows = Slice::from(start..(start + max_batch).min(n));
            let batch = tiles.slice_axis(Axis(0), rows);
            let run_error = |source| InferenceError::Run { model: self.kind, source };
            let input: SessionInputValue = TensorRef::from_array_view(batch).map_err(run_error)?.into();
            let outputs = self.session.run(ort::inputs![self.input.name.as_str() => input]).map_err(run_error)?;
            for (spec, result) in self.outputs.iter().zip(&mut results) {
                let value = outputs[spec.name.as_str()].try_extract_array::<f32>().map_err(run_error)?;
                let mut target = result.slice_axis_mut(Axis(0), rows);
                if value.shape() != target.shape() {
                    return Err(InferenceError::OutputShape {
                        model: self.kind,
                        output: spec.name.clone(),
                        expected: format!("{:?}", target.shape()),
                        found: format!("{:?}", value.shape()),
                    });
                }
                target.assign(&value);
            }
        }
        Ok(results)
    }
}

fn build(runtime: &Runtime, model: &[u8], intra_threads: usize) -> ort::Result<Session> {
    // The CPU, unless the `cuda` feature adds ONNX Runtime's CUDA provider; registering it falls
    // back to the CPU, with a logged error, when the loaded library has no CUDA support (the
    // CPU build `make ort` installs has none).
    let providers: &[ExecutionProviderDispatch] = &[
        #[cfg(feature = "cuda")]
        ort::ep::CUDA::default().build(),
    ];
    Session::builder(runtime.environment())?
        .with_intra_threads(intra_threads)?
        .with_execution_providers(providers)?
        .commit_from_memory(model)
}

fn check_outlets(model: ModelKind, side: &str, expected: &[TensorSpec], found: &[Outlet]) -> Result<(), RegistryError> {
    if expected.len() != found.len() {
        let expected: Vec<&str> = expected.iter().map(|t| t.name.as_str()).collect();
        let found: Vec<&str> = found.iter().map(Outlet::name).collect();
        return Err(RegistryError::mismatch(model, side, format!("{expected:?}"), format!("{found:?}")));
    }
    for (i, (spec, outlet)) in expected.iter().zip(found).enumerate() {
        let field = |what: &str| format!("{side}[{i}].{what}");
        if spec.name != outlet.name() {
            return Err(RegistryError::mismatch(model, field("name"), &spec.name, outlet.name()));
        }
        let ValueType::Tensor { ty, shape, dimension_symbols } = outlet.dtype() else {
            return Err(RegistryError::mismatch(
                model,
                field("dtype"),
                &spec.dtype,
                format!("a non-tensor {:?}", outlet.dtype()),
            ));
        };
        if spec.dtype != onnx_type_name(*ty) {
            return Err(RegistryError::mismatch(model, field("dtype"), &spec.dtype, onnx_type_name(*ty)));
        }
        // A named dimension matches any dynamic one: the symbol's name has no effect at run time.
        let dims: Vec<Dim> = shape
            .iter()
            .zip(dimension_symbols.iter())
            .map(|(&size, symbol)| match usize::try_from(size) {
                Ok(size) => Dim::Fixed(size),
                Err(_) => Dim::Named(if symbol.is_empty() { "?".into() } else { symbol.clone() }),
            })
            .collect();
        let matching = |(found, expected): (&Dim, &Dim)| {
            matches!((found, expected), (Dim::Named(_), Dim::Named(_))) || found == expected
        };
        let same = dims.len() == spec.shape.len() && dims.iter().zip(&spec.shape).all(matching);
        if !same {
            return Err(RegistryError::mismatch(model, field("shape"), shape_text(&spec.shape), shape_text(&dims)));
        }
    }
    Ok(())
}

/// ONNX's names for element types, as the manifest writes them (ort's `Display` says "f32").
fn onnx_type_name(ty: TensorElementType) -> String {
    let name = match ty {
        TensorElementType::Float32 => "float32",
        TensorElementType::Float64 => "float64",
        TensorElementType::Float16 => "float16",
        TensorElementType::Bfloat16 => "bfloat16",
        TensorElementType::Int64 => "int64",
        TensorElementType::Int32 => "int32",
        TensorElementType::Uint8 => "uint8",
        TensorElementType::Int8 => "int8",
        TensorElementType::Bool => "bool",
        other => return other.to_string(),
    };
    name.to_owned()
}
