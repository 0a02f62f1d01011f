//! The codec of every `xray.v1` call: prost's, except that a request that is not valid
//! protobuf (a string that is not UTF-8, a truncated field, a wrong wire type) is the
//! client's mistake and answers INVALID_ARGUMENT, where prost's codec answers INTERNAL.

use tonic::{
    Code, Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder, prost::Message};

/// Prost's codec with client-mistake decoding errors.
#[derive(Debug, Clone, Default)]
pub struct WireCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Codec for WireCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = WireDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        WireDecoder(self.0.decoder())
    }
}

/// Prost's decoder, with its parse failures answered as INVALID_ARGUMENT.
#[derive(Debug, Clone, Default)]
pub struct WireDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for WireDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| match status.code() {
            Code::Internal => Status::invalid_argument(format!(
                "the message is not a valid {} protobuf message: {}",
                std::any::type_name::<U>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("xray.v1"),
                status.message()
            )),
            _ => status,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
