package dev.vllmrouter.pd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.Worker;

import static org.assertj.core.api.Assertions.assertThat;

/** Golden JSON for the prefill/decode rewrites, the coordination id, and the logprobs merge. */
class PdRequestsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode json(String s) throws Exception {
        return (ObjectNode) JSON.readTree(s.replace('\'', '"'));
    }

    @Test
    void nixlChatPrefillIsOneTokenWithoutStream() throws Exception {
        ObjectNode client = json("{'model':'m','messages':[{'role':'user','content':'hi'}],'stream':true,"
                + "'stream_options':{'include_usage':true},'max_tokens':100,'max_completion_tokens':90,"
                + "'min_tokens':5,'temperature':0.2}");
        ObjectNode prefill = PdRequests.prefill(client, "/v1/chat/completions", PdRequests.nixlPrefillParams());
        assertThat(prefill).isEqualTo(json("{'model':'m','messages':[{'role':'user','content':'hi'}],"
                + "'stream':false,'max_tokens':1,'max_completion_tokens':1,'min_tokens':1,'temperature':0.2,"
                + "'kv_transfer_params':{'do_remote_decode':true,'do_remote_prefill':false,'remote_engine_id':null,"
                + "'remote_block_ids':null,'remote_host':null,'remote_port':null}}"));
        assertThat(client.get("max_tokens").asInt()).as("the client's body is not modified").isEqualTo(100);
    }

    @Test
    void completionWithoutLimitsGetsMaxTokensOnly() throws Exception {
        ObjectNode prefill = PdRequests.prefill(json("{'prompt':'x','min_tokens':1}"), "/v1/completions",
                PdRequests.nixlPrefillParams());
        assertThat(prefill.get("max_tokens").asInt()).isEqualTo(1);
        assertThat(prefill.has("max_completion_tokens")).isFalse();
        assertThat(prefill.get("min_tokens").asInt()).isEqualTo(1);
        assertThat(prefill.get("stream").asBoolean()).isFalse();
    }

    @Test
    void responsesAndGenerateRoutes() throws Exception {
        assertThat(PdRequests.prefill(json("{'input':'x'}"), "/v1/responses", PdRequests.nixlPrefillParams())
                .get("max_output_tokens").asInt()).isEqualTo(1);
        ObjectNode gen = PdRequests.prefill(json("{'token_ids':[1,2]}"), "/inference/v1/generate",
                PdRequests.nixlPrefillParams());
        assertThat(gen.get("sampling_params")).isEqualTo(json("{'max_tokens':1,'min_tokens':1}"));
        ObjectNode gen2 = PdRequests.prefill(json("{'sampling_params':{'max_tokens':50,'min_tokens':3,'top_p':1}}"),
                "/inference/v1/generate", PdRequests.nixlPrefillParams());
        assertThat(gen2.get("sampling_params")).isEqualTo(json("{'max_tokens':1,'min_tokens':1,'top_p':1}"));
    }

    @Test
    void decodeIsTheClientsBodyPlusTheTransferParams() throws Exception {
        ObjectNode client = json("{'prompt':'x','stream':true,'max_tokens':100}");
        JsonNode kv = json("{'do_remote_prefill':true,'do_remote_decode':false,'remote_block_ids':[1,2],"
                + "'remote_engine_id':'e','remote_host':'10.0.0.1','remote_port':5600,'tp_size':1}");
        assertThat(PdRequests.decode(client, kv)).isEqualTo(json("{'prompt':'x','stream':true,'max_tokens':100,"
                + "'kv_transfer_params':{'do_remote_prefill':true,'do_remote_decode':false,'remote_block_ids':[1,2],"
                + "'remote_engine_id':'e','remote_host':'10.0.0.1','remote_port':5600,'tp_size':1}}"));
        assertThat(PdRequests.decode(client, null)).isEqualTo(client);
    }

    @Test
    void mooncakeParams() throws Exception {
        assertThat(PdRequests.mooncakePrefillParams("xfer-1")).isEqualTo(json(
                "{'do_remote_decode':true,'do_remote_prefill':false,'transfer_id':'xfer-1'}"));
        assertThat(PdRequests.mooncakeDecodeParams("xfer-1", "http://10.0.0.1:8998", "eng")).isEqualTo(json(
                "{'do_remote_decode':false,'do_remote_prefill':true,'transfer_id':'xfer-1',"
                        + "'remote_bootstrap_addr':'http://10.0.0.1:8998','remote_engine_id':'eng'}"));
    }

    @Test
    void moriioWriteParamsForBothLegs() throws Exception {
        ObjectNode client = json("{'model':'m','prompt':'x','stream':true,'max_tokens':100}");
        ObjectNode prefill = PdRequests.prefill(client, "/v1/completions",
                PdRequests.moriioPrefillParams("tx-1", 2, 4, 3));
        assertThat(prefill).isEqualTo(json("{'model':'m','prompt':'x','stream':false,'max_tokens':1,"
                + "'kv_transfer_params':{'do_remote_decode':true,'do_remote_prefill':false,'remote_engine_id':null,"
                + "'remote_block_ids':null,'remote_host':null,'remote_port':null,'transfer_id':'tx-1',"
                + "'remote_dp_size':4,'remote_tp_size':2,'remote_dp_rank':3}}"));
        ObjectNode decode = PdRequests.decode(client, PdRequests.moriioWriteDecodeParams("tx-1", 8, 1, 0));
        assertThat(decode).isEqualTo(json("{'model':'m','prompt':'x','stream':true,'max_tokens':100,"
                + "'kv_transfer_params':{'do_remote_decode':false,'do_remote_prefill':true,'remote_engine_id':null,"
                + "'remote_block_ids':null,'remote_host':null,'remote_port':null,'transfer_id':'tx-1',"
                + "'remote_dp_size':1,'remote_tp_size':8,'tp_size':8,'remote_dp_rank':0}}"));
    }

    @Test
    void moriioReadDecodeReusesThePrefillsParamsWithItsDpSize() throws Exception {
        // what vLLM's MoRIIOConnector returns from the prefill (request_finished)
        JsonNode answered = json("{'do_remote_prefill':true,'do_remote_decode':false,'remote_block_ids':[7,8],"
                + "'remote_engine_id':'10.0.0.1:6301','remote_host':'10.0.0.1','remote_handshake_port':6301,"
                + "'remote_notify_port':61005,'remote_dp_size':1,'tp_size':1,'transfer_id':'tx-2'}");
        ObjectNode client = json("{'model':'m','prompt':'x','max_tokens':5}");
        assertThat(PdRequests.decode(client, PdRequests.moriioReadDecodeParams(answered, 2))).isEqualTo(json(
                "{'model':'m','prompt':'x','max_tokens':5,'kv_transfer_params':{'do_remote_prefill':true,"
                        + "'do_remote_decode':false,'remote_block_ids':[7,8],'remote_engine_id':'10.0.0.1:6301',"
                        + "'remote_host':'10.0.0.1','remote_handshake_port':6301,'remote_notify_port':61005,"
                        + "'remote_dp_size':2,'tp_size':1,'transfer_id':'tx-2'}}"));
        assertThat(answered.get("remote_dp_size").asInt()).as("the prefill's answer is not modified").isEqualTo(1);
        assertThat(PdRequests.moriioReadDecodeParams(null, 1)).isNull();
        assertThat(PdRequestId.moriioTransferId(RandomSource.seeded(1))).matches("tx-[0-9a-f]{32}");
    }

    @Test
    void coordinationIdNamesBothPeers() {
        Worker p = new Worker(WorkerUrl.parse("http://10.0.0.1:8100"), Role.PREFILL, -1, "10.0.0.1:21001");
        Worker d = new Worker(WorkerUrl.parse("http://10.0.0.2:8200"), Role.DECODE, -1, null);
        String id = PdRequestId.of(p, d, RandomSource.seeded(1));
        assertThat(id).matches("___prefill_addr_10\\.0\\.0\\.1:21001___decode_addr_10\\.0\\.0\\.2:8200_[0-9a-f]{32}");
        // the regexes vLLM's P2pNcclConnector applies
        assertThat(id.replaceAll(".*___decode_addr_(.*):(\\d+).*", "$1:$2")).isEqualTo("10.0.0.2:8200");
        assertThat(id.replaceAll(".*___prefill_addr_(.*):(\\d+)___.*", "$1:$2")).isEqualTo("10.0.0.1:21001");
        assertThat(PdRequestId.transferId(RandomSource.seeded(2))).matches("xfer-[0-9a-f]{32}");
    }

    @Test
    void logprobsMergeFillsOnlyWhatTheDecodeLacks() throws Exception {
        ObjectNode decode = json("{'choices':[{'text':'The cat sat','prompt_logprobs':null,'logprobs':{"
                + "'tokens':['The',' cat',' sat'],'token_logprobs':[null,null,-0.5],"
                + "'top_logprobs':[null,null,{' sat':-0.5}]}}]}");
        JsonNode prefill = json("{'choices':[{'prompt_logprobs':[null,{'1':{'logprob':-1.0}}],'logprobs':{"
                + "'tokens':['The',' cat',' on'],'token_logprobs':[-3.0,-1.0,-0.9],"
                + "'top_logprobs':[{'The':-3.0},{' cat':-1.0},{' on':-0.9}]}}]}");
        LogprobsMerge.merge(decode, prefill);
        JsonNode c = decode.get("choices").get(0);
        assertThat(c.get("prompt_logprobs")).isEqualTo(prefill.get("choices").get(0).get("prompt_logprobs"));
        assertThat(c.get("logprobs").get("token_logprobs").toString()).isEqualTo("[-3.0,-1.0,-0.5]");
        assertThat(c.get("logprobs").get("top_logprobs").get(2).toString()).isEqualTo("{\" sat\":-0.5}");
        assertThat(LogprobsMerge.wanted(json("{'logprobs':true}"))).isTrue();
        assertThat(LogprobsMerge.wanted(json("{'logprobs':false}"))).isFalse();
        assertThat(LogprobsMerge.wanted(json("{'echo':true,'stream':true}"))).isFalse();
        assertThat(LogprobsMerge.wanted(json("{'prompt':'x'}"))).isFalse();
    }
}
